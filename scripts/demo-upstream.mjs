// A stand-in for a business's own API, for trying seed 003's replay on one machine: listens on
// 127.0.0.1 (port 4000, or the first argument). A PUT meets a record that changed meanwhile (409
// VERSION_MISMATCH, with the API's copy), unless it is sent as an overwrite; anything else is
// created (201 with an id). A repeated Idempotency-Key gets the first answer again, as a
// well-behaved API does.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 4000);
const answers = new Map();

createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const key = request.headers['idempotency-key'];
    const stale = request.method === 'PUT' && !request.headers['x-conflict-resolution'];
    const answer = (key && answers.get(key)) ?? {
      status: stale ? 409 : 201,
      body: JSON.stringify(
        stale
          ? { conflict_type: 'VERSION_MISMATCH', current: { stock: 7, version: 4 } }
          : { id: `srv-${randomUUID()}` },
      ),
    };
    if (key) answers.set(key, answer);
    response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
}).listen(port, '127.0.0.1', () => {
  console.log(`demo upstream API on http://127.0.0.1:${port}`);
});
