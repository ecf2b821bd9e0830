// A real OpenID provider for partitur's sign-in tests: the certified `oidc-provider` package,
// served on 127.0.0.1 with a small login page of its own (no development shortcuts).
//
//   OIDC_PORT=4011 OIDC_CLIENTS='[{"client_id":..., "client_secret":..., "redirect_uris":[...]}]' \
//   OIDC_ACCOUNTS='{"acct-ada": {"email": "ada@example.com", "password": "...", "name": "Ada"}}' \
//   node provider.mjs
//
// Prints one line `{"issuer": "http://127.0.0.1:4011"}` on stdout once it listens. Accounts
// sign in with their e-mail and password on /interaction/<uid>; the subject (`sub`) is the
// account's key, never its e-mail, so a client must map users by the `email` claim.
// Consent is granted for the configured first-party clients without a second page.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

function accountByEmail(email) {
  return Object.entries(accounts).find(([, account]) => account.email === email);
}

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // every client must send a PKCE challenge (S256), confidential ones included
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'locale'] },
  scopes: ['openid', 'email', 'profile'],
  async findAccount(ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: account.email,
          email_verified: account.email_verified ?? true,
          name: account.name,
          locale: account.locale,
        };
      },
    };
  },
  // first-party clients: the scopes asked for are granted without a consent page
  async loadExistingGrant(ctx) {
    const existing = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

const page = (uid, error) => `<!doctype html><html><head><title>Sign in</title></head><body>
<h1>Test identity provider</h1>${error ? `<p class="error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<input name="email" type="email"><input name="password" type="password">
<button type="submit">Sign in</button></form></body></html>`;

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

const interaction = /^\/interaction\/([\w-]+)(\/login)?$/;
const handleProvider = provider.callback();

const server = http.createServer(async (req, res) => {
  const match = interaction.exec(new URL(req.url, issuer).pathname);
  if (!match) return handleProvider(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET' && !match[2]) {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      return res.end(page(details.uid));
    }
    if (req.method === 'POST' && match[2]) {
      const form = await readForm(req);
      const found = accountByEmail(form.get('email'));
      if (!found || found[1].password !== form.get('password')) {
        res.statusCode = 401;
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        return res.end(page(details.uid, 'wrong e-mail or password'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: found[0] } });
    }
    res.statusCode = 405;
    return res.end();
  } catch (error) {
    res.statusCode = 400;
    return res.end(String(error));
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
