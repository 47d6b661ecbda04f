// The admin's token lives in this tab's session storage only. A sign-in link carries it in the
// URL fragment (`#access_token=…`), which browsers never send to a server; it is read once and
// the fragment cleared, so the token is in no URL, no log and no history entry.
const storageKey = 'syncline.admin.token';

export function tokenFromFragment(location: Location, history: History): string | undefined {
  const match = /(?:^#|&)access_token=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return undefined;
  history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  return decodeURIComponent(match[1]);
}

export function loadToken(): string | undefined {
  return sessionStorage.getItem(storageKey) ?? undefined;
}

export function saveToken(token: string): void {
  sessionStorage.setItem(storageKey, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(storageKey);
}
