/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dev server forwards the API and the WebSocket to `openbell serve` (port 8000, or
// OPENBELL_API). The WebSocket refuses foreign browser origins, so the proxied upgrade presents
// the API's own.
const API = process.env.OPENBELL_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  build: { target: 'es2022', modulePreload: { polyfill: false }, chunkSizeWarningLimit: 600 },
  server: {
    proxy: {
      '/api': { target: API },
      '/ws': {
        target: API,
        ws: true,
        changeOrigin: true,
        configure: (proxy) => {
          proxy.on('proxyReqWs', (request) => request.setHeader('origin', API));
        },
      },
    },
  },
  test: { environment: 'happy-dom', include: ['src/**/*.test.{ts,tsx}'] },
});
