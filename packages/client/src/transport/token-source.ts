// Where the bearer token comes from: the one the app set at login (setToken), else getToken().
// A 401 asks getToken() once more before the request counts as unauthorized.
export interface TokenSource {
  current(): Promise<string>;
  /** Forgets the token in use and asks the app again. */
  refresh(): Promise<string>;
}

export function createTokenSource(getToken: () => string | Promise<string>): TokenSource & {
  set(token: string | null): void;
} {
  let given: string | null = null;
  return {
    set(token) {
      given = token;
    },
    async current() {
      return given ?? (await getToken());
    },
    async refresh() {
      given = null;
      return getToken();
    },
  };
}
