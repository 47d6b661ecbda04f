// Who is asking: the verified token's claims, as the engine sees them.
export interface Actor {
  tenant: string;
  userId: string;
  role: 'user' | 'admin';
  /** Every claim of the token, for `{ field, claim }` access rules (e.g. `facilities`). */
  claims: Readonly<Record<string, unknown>>;
}

export const isAdmin = (actor: Actor): boolean => actor.role === 'admin';
