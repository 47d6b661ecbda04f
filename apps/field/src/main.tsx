// The field app's entry: registers the service worker (so that the next opening works offline)
// and draws the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { registerServiceWorker } from './service-worker.js';
import './styles.css';

const registration = registerServiceWorker().catch((error: unknown) => {
  console.warn('The service worker could not be registered; the app will not open offline.', error);
  return undefined;
});

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App registration={registration} />
  </StrictMode>,
);
