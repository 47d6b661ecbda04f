// Entry point: picks up a token from a sign-in link or from this tab's session, checks it, and
// draws the dashboard.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError } from './api.js';
import { App } from './App.js';
import { describeSignInError, verifyAdminToken, type SignedIn } from './pages/sign-in.js';
import { RouterProvider } from './router.js';
import { clearToken, loadToken, saveToken, tokenFromFragment } from './session.js';
import './styles.css';

async function start() {
  const fromLink = tokenFromFragment(window.location, window.history);
  const token = fromLink ?? loadToken();
  let initial: SignedIn | undefined;
  let initialError: string | undefined;
  if (token) {
    try {
      initial = await verifyAdminToken(token);
      saveToken(token);
    } catch (error) {
      clearToken();
      initialError =
        error instanceof ApiError ? describeSignInError(error) : (error as Error).message;
    }
  }
  const root = document.getElementById('root');
  if (!root) throw new Error('#root is missing');
  createRoot(root).render(
    <StrictMode>
      <RouterProvider>
        <App initial={initial} initialError={initialError} />
      </RouterProvider>
    </StrictMode>,
  );
}

void start();
