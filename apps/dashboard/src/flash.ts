// A one-time message carried to the next page (e.g. "Conflict resolved" after leaving its page).
let pending: string | undefined;

export function setFlash(message: string): void {
  pending = message;
}

export function takeFlash(): string | undefined {
  const message = pending;
  pending = undefined;
  return message;
}
