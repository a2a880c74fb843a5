import { defineConfig } from 'vitest/config';
import preact from '@preact/preset-vite';

// The build lands in ../dist, which the Go package embeds; it is committed so
// that `go install` serves the UI with no Node step.
export default defineConfig({
  plugins: [preact()],
  base: '/',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    // Content-hashed names let the server cache assets forever.
    assetsDir: 'assets',
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` proxies the APIs to a running argus.
    proxy: Object.fromEntries(
      ['/api', '/jaeger', '/loki', '/alertmanager', '/metrics'].map((p) => [p, { target: 'http://127.0.0.1:7070', ws: true }]),
    ),
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
