import { LOGOUT_TRIGGERS } from '@signoff/core';
import { initiatingEntityOf, reasonsOf } from './events';

describe('CAEP initiating_entity and reasons', () => {
  it('says who ended it: the user, an administrator, or policy', () => {
    expect(initiatingEntityOf('user_logout', 'user')).toBe('user');
    expect(initiatingEntityOf('rp_initiated', 'provider')).toBe('user');
    expect(initiatingEntityOf('admin_session', 'admin')).toBe('admin');
    expect(initiatingEntityOf('user_deactivated', 'admin')).toBe('admin');
    expect(initiatingEntityOf('password_changed', 'user')).toBe('user');
    expect(initiatingEntityOf('password_changed', 'admin')).toBe('admin');
    expect(initiatingEntityOf('expiry', 'system')).toBe('policy');
    expect(initiatingEntityOf('global_revocation', 'admin')).toBe('policy');
  });

  it('gives every trigger a non-empty reason_admin and reason_user, as language maps (CAEP 1.0 §2)', () => {
    for (const trigger of LOGOUT_TRIGGERS) {
      const reasons = reasonsOf(trigger);
      expect(reasons.reason_admin.en).toMatch(/\S/);
      expect(reasons.reason_user.en).toMatch(/\S/);
    }
  });
});
