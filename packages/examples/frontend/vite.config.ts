import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
  build: {
    outDir: '../../../dist/packages/examples/frontend',
    emptyOutDir: true,
    // Keep every asset a separate, content-hashed file, as real apps ship them.
    assetsInlineLimit: 0,
  },
});
