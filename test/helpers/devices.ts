/**
 * The one list of devices the op suites run on: every registered backend ('cpu', 'cpu-reference'
 * and any later one), read from the registry so a new backend is tested without a line here.
 */
import '../../src/index.js';
import { registeredDevices } from '../../src/backend/backend.js';

export const DEVICES: readonly string[] = registeredDevices();
