// The dashboard is served by the Syncline server at /admin (packages/server/src/http/web-apps.ts);
// `npm run dev` proxies the API to a server on localhost:3000.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: { proxy: { '/api': 'http://localhost:3000' } },
});
