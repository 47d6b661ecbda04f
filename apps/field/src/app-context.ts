// What every screen of a signed-in app needs: the sync client, the token's claims, the device id.
import type { SyncClient } from '@syncline/client';
import { createContext, useContext } from 'react';
import type { TokenClaims } from './token.js';

export interface FieldContext {
  client: SyncClient;
  claims: TokenClaims;
  deviceId: string;
}

export const FieldContext = createContext<FieldContext | null>(null);

export function useField(): FieldContext {
  const value = useContext(FieldContext);
  if (!value) throw new Error('useField outside a signed-in app');
  return value;
}
