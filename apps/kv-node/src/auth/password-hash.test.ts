import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password-hash.js';

describe('password hashes', () => {
  it('verify the right password only, with a fresh salt each time', async () => {
    const hash = await hashPassword('secret', 4);
    expect(hash).toMatch(/^scrypt\$4\$/);
    expect(hash).not.toContain('secret');
    expect(await verifyPassword('secret', hash)).toBe(true);
    expect(await verifyPassword('Secret', hash)).toBe(false);
    expect(await hashPassword('secret', 4)).not.toBe(hash);
  });

  it('never match a malformed, empty or out-of-range hash', async () => {
    expect(await verifyPassword('', '')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$99$AAAA$AAAA')).toBe(false);
    expect(await verifyPassword('x', 'bcrypt$10$abc')).toBe(false);
  });

  it('refuses a cost out of range', async () => {
    await expect(hashPassword('x', 3)).rejects.toThrow(RangeError);
    await expect(hashPassword('x', 18)).rejects.toThrow(RangeError);
  });
});
