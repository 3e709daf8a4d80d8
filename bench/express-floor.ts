// The floor for `npm run bench:webhook`: the least an HTTP webhook receiver in Node can do, a bare
// express handler that parses the same JSON body (express.json, 1 MiB limit like the remediator's
// max_body_size) and answers 200 {status: 'accepted'}. No auth, no validation, no state.
// Usage: node bench/express-floor.ts 127.0.0.1:PORT  (prints "listening" on stdout when ready)
import express from 'express';

const [host, portText] = (process.argv[2] ?? '127.0.0.1:0').split(':');
const app = express();
app.disable('x-powered-by');
app.get('/-/healthy', (_request, response) => {
  response.type('text/plain').send('OK\n');
});
app.post('/api/v1/alerts', express.json({ limit: '1mb' }), (request, response) => {
  const alerts = (request.body as { alerts?: unknown[] } | undefined)?.alerts;
  response.status(200).json({ status: 'accepted', alerts: Array.isArray(alerts) ? alerts.length : 0 });
});
const server = app.listen(Number(portText), host ?? '127.0.0.1', () => process.stdout.write('listening\n'));
const stop = () => server.close(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
