import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
  build: {
    outDir: '../../../dist/packages/examples/docs',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    // Plain pages, one HTML file per folder URL, as static documentation sites ship.
    rollupOptions: {
      input: {
        home: resolve(__dirname, 'index.html'),
        guide: resolve(__dirname, 'guide/index.html'),
      },
    },
  },
});
