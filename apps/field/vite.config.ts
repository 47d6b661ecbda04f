// The field app is served by the Syncline server at /app (packages/server/src/http/web-apps.ts);
// `npm run dev` proxies the API to a server on localhost:3000. vite-plugin-pwa builds the service
// worker from src/sw.ts (injectManifest) with the list of files to precache, and the manifest.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/** The SDK's public entry points, from its sources, so that the app builds without a package build. */
const sdk = (entry: string) =>
  fileURLToPath(new URL(`../../packages/client/src/${entry}`, import.meta.url));

export default defineConfig({
  base: '/app/',
  resolve: {
    alias: [
      { find: /^@syncline\/client$/, replacement: sdk('index.ts') },
      { find: /^@syncline\/client\/react$/, replacement: sdk('react/index.ts') },
      { find: /^@syncline\/client\/sw$/, replacement: sdk('sw/index.ts') },
    ],
  },
  plugins: [
    react(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      // src/service-worker.ts registers it once the page has signed in.
      injectRegister: false,
      // The icons are in the glob below already.
      includeManifestIcons: false,
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        // Source maps are for debugging, not for the app shell.
        globIgnores: ['**/*.map'],
        // A classic worker script: every browser with service workers registers it.
        rollupFormat: 'iife',
      },
      manifest: {
        name: 'Syncline Field',
        short_name: 'Field',
        description: 'Attendance and asset inspection that keep working with no connection',
        start_url: '/app/',
        scope: '/app/',
        display: 'standalone',
        orientation: 'portrait',
        background_color: '#f6f7fb',
        theme_color: '#4f46e5',
        icons: [
          { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
      },
    }),
  ],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: { proxy: { '/api': 'http://localhost:3000' } },
});
