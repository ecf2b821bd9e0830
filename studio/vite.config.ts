/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The Studio is served by `partitur serve` under /ui/ (see src/partitur/web/studio.py); the
// build goes into the Python package so the wheel ships it.
const API = process.env.PARTITUR_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/ui/",
  plugins: [react()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: {
    outDir: fileURLToPath(new URL("../src/partitur/web/studio", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev` next to `make run`: the API on :8000, same origin through the proxy, so
    // the session cookie and CSRF header work as in production
    proxy: { "/api": API, "/v1": API, "/healthz": API },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
