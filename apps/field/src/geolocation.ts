// The device's position for a clock-in or clock-out, with the reason in words when there is none.
import type { Position } from './attendance.js';

export class LocationError extends Error {
  override readonly name = 'LocationError';
}

const reasons: Record<number, string> = {
  1: 'Location access is turned off for this app. Allow it in the browser’s site settings to clock in.',
  2: 'This device cannot tell where it is right now. Move to an open spot and try again.',
  3: 'Finding your location took too long. Try again.',
};

export function currentPosition(timeoutMs = 15_000): Promise<Position> {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator)) {
      reject(new LocationError('This browser cannot share its location.'));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) =>
        resolve({ latitude: position.coords.latitude, longitude: position.coords.longitude }),
      (error) => reject(new LocationError(reasons[error.code] ?? error.message)),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 60_000 },
    );
  });
}
