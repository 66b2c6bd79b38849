import type { SaslHandshakeRequest, SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.ts';
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../../protocol/generated/sasl-authenticate.ts';
import type { RequestContext } from '../context.ts';
import type { AuthenticatingConnection } from '../sasl/session.ts';

/** SaslHandshake v0-1: picks the mechanism for this connection (sasl/session.ts holds the state). */
export function handleSaslHandshake(req: SaslHandshakeRequest, ctx: RequestContext): SaslHandshakeResponse {
  return ctx.security.sessions.handshake(ctx.conn as unknown as AuthenticatingConnection, req.mechanism);
}

/** SaslAuthenticate v0-2 (KIP-152): one SASL message each way. No session lifetime (KIP-368): 0 means none. */
export async function handleSaslAuthenticate(req: SaslAuthenticateRequest, ctx: RequestContext): Promise<SaslAuthenticateResponse> {
  const result = await ctx.security.sessions.authenticate(ctx.conn as unknown as AuthenticatingConnection, req.authBytes);
  return { ...result, sessionLifetimeMs: 0 };
}
