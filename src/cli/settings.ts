import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

/**
 * The settings of `serve` come from three layers: the command line, the environment (`HOLDFAST_*`)
 * and the config file. Each layer is reduced to the same shape, the values the flags would have
 * (strings, booleans, lists), and the first layer that sets a flag wins; args.ts then checks the
 * winning values once, naming the layer each came from ('--port', 'HOLDFAST_PORT',
 * 'holdfast.json: port').
 */

/** The command line's options, for node:util parseArgs. */
export const OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  path: { type: 'string' },
  'api-key': { type: 'string' },
  'metrics-key': { type: 'string' },
  'no-prices': { type: 'boolean' },
  'allow-origin': { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  'trusted-proxies': { type: 'string' },
  'max-connections-per-address': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'heartbeat-timeout': { type: 'string' },
  data: { type: 'string' },
  memory: { type: 'boolean' },
  synchronous: { type: 'string' },
  'max-db-size': { type: 'string' },
  redis: { type: 'string' },
  'redis-prefix': { type: 'string' },
  'redis-wait-replicas': { type: 'string' },
  'redis-wait-timeout': { type: 'string' },
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** A setting any layer can give: every option but the ones that pick what to do or where to read. */
export type FlagName = Exclude<keyof typeof OPTIONS, 'config' | 'help' | 'version'>;

export const FLAG_NAMES = Object.keys(OPTIONS).filter((name) => name !== 'config' && name !== 'help' && name !== 'version') as FlagName[];

export type FlagValue = string | boolean | string[];

/** One layer: its values by flag, and the name to show for each in an error. */
export interface SettingsLayer {
  values: Partial<Record<FlagName, FlagValue>>;
  names: Partial<Record<FlagName, string>>;
}

/**
 * The flags that choose the store. A layer that chooses one replaces the whole store of the layers
 * below it: `--memory` over a file's Redis store means memory, not "memory and Redis".
 */
const STORE_CHOICE: readonly FlagName[] = ['memory', 'data', 'redis'];
const STORE_FLAGS: readonly FlagName[] = ['memory', 'data', 'synchronous', 'max-db-size', 'redis', 'redis-prefix', 'redis-wait-replicas', 'redis-wait-timeout'];

/** `max-connections-per-address` -> `HOLDFAST_MAX_CONNECTIONS_PER_ADDRESS` */
export function envName(flag: FlagName): string {
  return `HOLDFAST_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export function flagLayer(values: Partial<Record<FlagName, FlagValue | undefined>>): SettingsLayer {
  const layer: SettingsLayer = { values: {}, names: {} };
  for (const flag of FLAG_NAMES) {
    const value = values[flag];
    if (value === undefined) continue;
    layer.values[flag] = value;
    layer.names[flag] = `--${flag}`;
  }
  return layer;
}

/**
 * `HOLDFAST_<FLAG>` for every flag. A list is comma-separated; a yes/no flag takes 1/true or
 * 0/false. An empty variable counts as set (HOLDFAST_API_KEY= is refused, not ignored).
 */
export function envLayer(env: Record<string, string | undefined>): SettingsLayer {
  const layer: SettingsLayer = { values: {}, names: {} };
  for (const flag of FLAG_NAMES) {
    const name = envName(flag);
    const text = env[name];
    if (text === undefined) continue;
    const option: { type: string; multiple?: boolean } = OPTIONS[flag];
    let value: FlagValue;
    if (option.type === 'boolean') {
      if (!/^(1|true|0|false)$/i.test(text)) throw new UsageError(`${name} must be 1, true, 0 or false: '${text}'`);
      value = /^(1|true)$/i.test(text);
    } else if (option.multiple === true) {
      value = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    } else {
      value = text;
    }
    layer.values[flag] = value;
    layer.names[flag] = name;
  }
  return layer;
}

/** The winning value of each flag, typed, with the name of the layer that gave it. */
export interface Settings {
  text(flag: FlagName): string | undefined;
  flag(flag: FlagName): boolean;
  list(flag: FlagName): string[] | undefined;
  /** Whether some layer gave it (a yes/no flag only when yes). */
  given(flag: FlagName): boolean;
  /** '--port', 'HOLDFAST_PORT' or 'holdfast.json: port'; '--port' when no layer gave it. */
  name(flag: FlagName): string;
}

/** Merges layers, the first winning; see STORE_CHOICE for the store. */
export function layerSettings(layers: SettingsLayer[]): Settings {
  const values: Partial<Record<FlagName, FlagValue>> = {};
  const names: Partial<Record<FlagName, string>> = {};
  let storeChosen = false;
  for (const layer of layers) {
    const choosesStore = STORE_CHOICE.some((flag) => isSet(layer.values[flag]));
    for (const flag of FLAG_NAMES) {
      const value = layer.values[flag];
      if (value === undefined || flag in values) continue;
      if (storeChosen && STORE_FLAGS.includes(flag)) continue;
      values[flag] = value;
      names[flag] = layer.names[flag]!;
    }
    storeChosen ||= choosesStore;
  }
  const wrongType = (flag: FlagName, expected: string): never => {
    throw new Error(`settings: ${names[flag] ?? flag} holds ${typeof values[flag]}, not ${expected}`);
  };
  return {
    text(flag) {
      const value = values[flag];
      return value === undefined || typeof value === 'string' ? value : wrongType(flag, 'a string');
    },
    flag(flag) {
      const value = values[flag];
      return value === undefined ? false : typeof value === 'boolean' ? value : wrongType(flag, 'a boolean');
    },
    list(flag) {
      const value = values[flag];
      return value === undefined || Array.isArray(value) ? value : wrongType(flag, 'a list');
    },
    given: (flag) => isSet(values[flag]),
    name: (flag) => names[flag] ?? `--${flag}`,
  };
}

function isSet(value: FlagValue | undefined): boolean {
  return value !== undefined && value !== false;
}
