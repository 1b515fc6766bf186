/**
 * `holdfast`: the protocol's types, codes and errors. No runtime dependencies; safe in a browser.
 */
export * from './frames.js';
export * from './codes.js';
export * from './errors.js';
export * from './wire.js';
export * from './json.js';
export * from './defaults.js';
export * from './payload.js';
export * from './clock.js';
export * from './framing.js';
export * from './subprotocol.js';
