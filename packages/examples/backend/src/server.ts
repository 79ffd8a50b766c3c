import { createServer } from 'node:http';

/** A tiny API service: deployed elsewhere, never by the frontend pipeline. */
export const server = createServer((req, res) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(req.url === '/health' ? { ok: true } : { message: 'hello from the backend' }));
});

if (require.main === module) server.listen(Number(process.env.PORT ?? 3000));
