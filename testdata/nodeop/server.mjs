// node-oidc-provider for oauthctl's end-to-end tests: a second, independent
// certified OpenID Provider besides zitadel's (internal/testop). Started by
// internal/nodeop, never by hand in CI.
//
// It listens on 127.0.0.1 on a port the OS picks and prints one JSON line on
// stdout, {"issuer":"http://127.0.0.1:PORT"}, then one JSON line per token
// endpoint answer ({"event":"grant","grant_type":...,"client_id":...} or
// {"event":"grant_error","error":...}) so the tests can count refreshes.
//
// The configuration is what makes it strict, and what oauthctl must cope with:
//   - three clients, one per client authentication method: oauthctl-none
//     (public, PKCE), oauthctl-basic (client_secret_basic) and oauthctl-post
//     (client_secret_post); each refuses every other method with 401
//     invalid_client at the token, revocation, introspection and device
//     endpoints. node-oidc-provider itself accepts either secret method for
//     both; the strictMethods middleware below refuses the one a client is
//     not registered for, as Okta, Salesforce and others do;
//   - access and ID tokens live 60 s (NODEOP_ACCESS_TTL overrides);
//   - a refresh token only when offline_access was asked for together with
//     prompt=consent (node-oidc-provider drops offline_access otherwise);
//   - refresh tokens rotate, and presenting a rotated one again revokes the
//     whole grant (reuse detection);
//   - refresh responses carry no ID token (OIDC Core §12.2 makes it
//     optional; the middleware below removes it);
//   - devInteractions: the built-in login page (any login, any password;
//     the login becomes the subject) and consent page, which the Go browser
//     stand-in fills in;
//   - node's HTTP server closes idle keep-alive connections after 5 s.
//
// Plain http on 127.0.0.1 is fine for node-oidc-provider outside production
// (NODE_ENV is not "production"); oauthctl accepts http only for loopback
// endpoints.
import http from 'node:http';
import querystring from 'node:querystring';
import Provider from 'oidc-provider';

const accessTTL = Number(process.env.NODEOP_ACCESS_TTL || 60);
const redirect = 'http://127.0.0.1/callback';
const grantTypes = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];

const clients = [
  { client_id: 'oauthctl-none', token_endpoint_auth_method: 'none' },
  { client_id: 'oauthctl-basic', client_secret: 'fake-basic-secret', token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'oauthctl-post', client_secret: 'fake-post-secret', token_endpoint_auth_method: 'client_secret_post' },
].map((c) => ({
  ...c,
  // native: a loopback redirect matches on any port (RFC 8252 §7.3).
  application_type: 'native',
  redirect_uris: [redirect],
  grant_types: grantTypes,
  response_types: ['code'],
  // Revocation and introspection authenticate the same way.
  revocation_endpoint_auth_method: c.token_endpoint_auth_method,
  introspection_endpoint_auth_method: c.token_endpoint_auth_method,
}));

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const server = http.createServer();
server.keepAliveTimeout = 5000; // node's default, stated: the reason for issue 9 item 6
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients,
    findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: `${sub}@example.test`, email_verified: true, preferred_username: sub };
        },
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      userinfo: { enabled: true },
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTTL,
      IdToken: accessTTL,
      AuthorizationCode: 60,
      DeviceCode: 600,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 24 * 3600,
      Interaction: 3600,
    },
    // Cookie keys are fixed: this OP lives for one test run.
    cookies: { keys: ['fake-nodeop-cookie-key'] },
  });
  provider.proxy = false;

  // strictMethods: a client authenticates only the way it is registered
  // for. It reads the form itself and hands it on as ctx.request.body,
  // which node-oidc-provider uses when the stream is consumed.
  const registered = new Map(clients.map((c) => [c.client_id, c.token_endpoint_auth_method]));
  const clientEndpoints = new Set(['/token', '/token/revocation', '/token/introspection', '/device/auth']);
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || !clientEndpoints.has(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) {
      return next();
    }
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const form = querystring.parse(Buffer.concat(chunks).toString());
    ctx.request.body = form;
    const header = ctx.get('authorization');
    const basic = /^basic /i.test(header);
    let id = form.client_id;
    if (basic) {
      try {
        id = decodeURIComponent(Buffer.from(header.slice(6), 'base64').toString().split(':')[0]);
      } catch {
        id = undefined;
      }
    }
    const method = registered.get(id);
    const used = basic ? 'client_secret_basic' : (form.client_secret !== undefined ? 'client_secret_post' : 'none');
    if (method && method !== used) {
      ctx.status = 401;
      ctx.body = {
        error: 'invalid_client',
        error_description: `client authentication failed: client ${id} is registered for ${method}, the request used ${used}`,
      };
      emit({ event: 'grant_error', grant_type: form.grant_type, client_id: id, error: 'invalid_client' });
      return undefined;
    }
    return next();
  });

  // Refresh responses without an ID token.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.method === 'POST' && ctx.status === 200 && ctx.body
        && ctx.oidc?.params?.grant_type === 'refresh_token') {
      delete ctx.body.id_token;
    }
  });
  provider.on('grant.success', (ctx) => {
    emit({ event: 'grant', grant_type: ctx.oidc.params.grant_type, client_id: ctx.oidc.client?.clientId });
  });
  provider.on('grant.error', (ctx, err) => {
    emit({ event: 'grant_error', grant_type: ctx.oidc?.params?.grant_type, client_id: ctx.oidc?.client?.clientId, error: err.error });
  });
  // Quiet: failures show in the token answers; keep stderr for crashes.
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`server_error: ${err.stack || err}\n`);
  });

  server.on('request', provider.callback());
  emit({ issuer });
});

// The Go side closes stdin (or dies): exit then, so no OP outlives its test.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
