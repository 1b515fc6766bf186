/**
 * The WebSocket subprotocol of Holdfast protocol version 1 (PROTOCOL.md, Transport). The client offers
 * it; the server selects it, accepts a client that offers none, and refuses one that offers only others.
 */
export const SUBPROTOCOL = 'holdfast.v1';
