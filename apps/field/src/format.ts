// Dates, times and values as the screens show them, in the device's locale and time zone.
export const formatTime = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '—';

/** `HH:MM` in local time, for a time input. */
export const inputTime = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

export function formatAgo(iso: string | null, now: Date = new Date()): string {
  if (!iso) return 'never';
  const seconds = Math.round((now.getTime() - Date.parse(iso)) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `at ${formatTime(iso)}`;
  return new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

export const formatCoordinates = (lat: number | null, lon: number | null) =>
  lat === null || lon === null ? 'no location' : `${lat.toFixed(5)}, ${lon.toFixed(5)}`;

export function formatValue(value: unknown): string {
  if (value === undefined || value === null || value === '') return '—';
  if (typeof value === 'string') {
    return /^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(Date.parse(value))
      ? new Date(value).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })
      : value;
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
