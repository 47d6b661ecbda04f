// What every page needs: the API client bound to the admin's token, and who is signed in.
import { createContext, useContext } from 'react';
import type { Api } from './api.js';

export interface Session {
  api: Api;
  tenant: string;
  userId: string;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in dashboard');
  return session;
}
