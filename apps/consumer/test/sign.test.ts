import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseSecret, sign, webhookHeaders } from '../src/delivery/sign.ts';

/**
 * The test vector of the Standard Webhooks reference library (its JavaScript `sign` test): this
 * secret, message id, timestamp and payload sign to exactly this. A signature computed any other
 * way (another key encoding, another separator, hex instead of base64) fails here.
 */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1_614_265_330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks signing', () => {
  it('signs the reference test vector to its published signature', async () => {
    expect(await sign([VECTOR.secret], VECTOR.msgId, VECTOR.timestamp, VECTOR.payload)).toBe(
      VECTOR.signature,
    );
  });

  it('signs with every secret given, space-separated, so a receiver holding any one of them verifies', async () => {
    const other = 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0';
    const at = new Date();
    const headers = await webhookHeaders([other, VECTOR.secret], 'msg_1', at, '{"n":1}');
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    });
    // The reference library verifies against either secret.
    for (const secret of [other, VECTOR.secret]) {
      expect(new Webhook(secret).verify('{"n":1}', headers)).toEqual({ n: 1 });
    }
    expect(() => new Webhook('whsec_b3RoZXJvdGhlcm90aGVy').verify('{"n":1}', headers)).toThrow();
  });

  it('reads a secret with or without its whsec_ prefix, and refuses one that is empty or not base64', () => {
    expect(parseSecret('whsec_AAEC')).toEqual(new Uint8Array([0, 1, 2]));
    expect(parseSecret('AAEC')).toEqual(new Uint8Array([0, 1, 2]));
    expect(() => parseSecret('whsec_')).toThrow(/empty/);
    expect(() => parseSecret('whsec_not base64!')).toThrow(/base64/);
  });
});
