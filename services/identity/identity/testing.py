"""What identity's tests, and the platform's, share."""

from identity import credentials


def count_password_checks(monkeypatch):
    """A list that grows by one (the hash) each time identity checks a password (an argon2 hash),
    in this process: how tests show a refused login cost no hash."""
    calls = []
    check = credentials.password_matches

    def counted(password_hash, password):
        calls.append(password_hash)
        return check(password_hash, password)

    monkeypatch.setattr(credentials, "password_matches", counted)
    return calls
