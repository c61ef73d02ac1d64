import { describe, expect, it } from 'vitest';
import { AuthState } from './auth-state.js';
import { issueToken, verifyToken } from './auth-token.js';

const KEY_A = 'a'.repeat(32);
const KEY_B = 'b'.repeat(32);

function enabledState(): AuthState {
  const state = new AuthState();
  state.apply({ op: 'userAdd', name: 'root', passwordHash: 'h', noPassword: false });
  state.apply({ op: 'userGrantRole', user: 'root', role: 'root' });
  state.apply({ op: 'userAdd', name: 'alice', passwordHash: 'h', noPassword: false });
  state.apply({ op: 'enable', signingKey: KEY_A });
  return state;
}

describe('auth tokens', () => {
  it('name their user until they expire', () => {
    const state = enabledState();
    const token = issueToken(state, 'alice', 1000, 300_000);
    expect(verifyToken(state, token, 1000)).toBe('alice');
    expect(verifyToken(state, token, 300_999)).toBe('alice');
    expect(verifyToken(state, token, 301_000)).toBeUndefined();
  });

  it('are valid on another replica of the same state (any member accepts them)', () => {
    const state = enabledState();
    const replica = enabledState();
    expect(verifyToken(replica, issueToken(state, 'alice', 0, 1000), 0)).toBe('alice');
  });

  it('refuse tampering, another user, garbage and oversized input', () => {
    const state = enabledState();
    const token = issueToken(state, 'alice', 0, 1000);
    const parts = token.split('.');
    const asRoot = [Buffer.from('root').toString('base64url'), ...parts.slice(1)].join('.');
    expect(verifyToken(state, asRoot, 0)).toBeUndefined();
    const longer = [...parts.slice(0, 2), '99999999999', ...parts.slice(3)].join('.');
    expect(verifyToken(state, longer, 0)).toBeUndefined();
    expect(verifyToken(state, 'garbage', 0)).toBeUndefined();
    expect(verifyToken(state, '....', 0)).toBeUndefined();
    expect(verifyToken(state, `${token}${'x'.repeat(2000)}`, 0)).toBeUndefined();
  });

  it('die with a password change, a deleted user, or auth re-enabled with a new key', () => {
    const state = enabledState();
    const token = issueToken(state, 'alice', 0, 1000);
    state.apply({ op: 'userChangePassword', name: 'alice', passwordHash: 'h2' });
    expect(verifyToken(state, token, 0)).toBeUndefined();

    const fresh = issueToken(state, 'alice', 0, 1000);
    state.apply({ op: 'userDelete', name: 'alice' });
    state.apply({ op: 'userAdd', name: 'alice', passwordHash: 'h', noPassword: false });
    expect(verifyToken(state, fresh, 0)).toBeUndefined();

    const again = issueToken(state, 'alice', 0, 1000);
    state.apply({ op: 'disable' });
    state.apply({ op: 'enable', signingKey: KEY_B });
    expect(verifyToken(state, again, 0)).toBeUndefined();
  });
});
