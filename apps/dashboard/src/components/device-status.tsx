import { Badge } from './ui.js';
import type { DeviceHealth } from '../types.js';

export function DeviceStatus({ device }: { device: DeviceHealth }) {
  if (!device.isActive) return <Badge tone="neutral">Revoked</Badge>;
  if (device.lagging) return <Badge tone="warn">Lagging</Badge>;
  return <Badge tone="good">Active</Badge>;
}

export const deviceLabel = (device: Pick<DeviceHealth, 'deviceName' | 'deviceId'>) =>
  device.deviceName ? `${device.deviceName} (${device.deviceId})` : device.deviceId;
