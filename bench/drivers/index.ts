import type { ClusterSystemId, SystemId } from '../lib/results.js';
import { holdfastDriver } from './holdfast.js';
import { mqttDriver } from './mqtt.js';
import { socketIoDriver } from './socketio.js';
import type { Driver } from './types.js';
import { wsDriver } from './ws.js';

export function driverFor(system: SystemId | ClusterSystemId): Driver {
  switch (system) {
    case 'ws':
      return wsDriver;
    case 'socketio':
    case 'socketioRecovery':
    case 'socketioRedis':
    case 'socketioStreams':
      return socketIoDriver(system);
    case 'mqtt':
      return mqttDriver;
    case 'holdfastVolatile':
    case 'holdfastMemory':
    case 'holdfastSqlite':
    case 'holdfastRedis':
      return holdfastDriver(system);
  }
}
