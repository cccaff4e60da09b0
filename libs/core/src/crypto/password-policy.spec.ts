import { PASSWORD_MAX_LENGTH, passwordProblem } from './password-policy';

describe('passwordProblem (NIST SP 800-63B §5.1.1.2)', () => {
  it('accepts a long enough password that is not a common one', () => {
    expect(passwordProblem('correct horse battery', 12)).toBeNull();
    expect(passwordProblem('a'.repeat(PASSWORD_MAX_LENGTH), 12)).toBeNull();
  });

  it('refuses one shorter than the configured minimum, counting characters rather than bytes', () => {
    expect(passwordProblem('eleven char', 12)).toBe('the password must be at least 12 characters long');
    expect(passwordProblem('eleven char', 8)).toBeNull();
    expect(passwordProblem('ééééééééééé', 12)).toBe('the password must be at least 12 characters long'); // 11 characters, 22 bytes
    expect(passwordProblem('e\u0301'.repeat(12), 13)).toBe('the password must be at least 13 characters long'); // NFC: 12 characters
  });

  it('refuses one longer than the maximum', () => {
    expect(passwordProblem('a'.repeat(PASSWORD_MAX_LENGTH + 1), 12)).toBe(
      `the password must be at most ${PASSWORD_MAX_LENGTH} characters long`,
    );
  });

  it('refuses a commonly used password whatever its case', () => {
    for (const common of ['password1234', 'PasswordPassword', 'Administrator', 'QWERTY123456', '123456789012']) {
      expect(passwordProblem(common, 12)).toBe(
        'the password is one of the most commonly used passwords; choose another',
      );
    }
    expect(passwordProblem('PASSWORD1', 8)).toBe(
      'the password is one of the most commonly used passwords; choose another',
    );
  });
});
