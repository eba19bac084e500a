"""Cryptography behind one interface: SM3, HMAC-SM3, SM4-GCM and SM2 (国密), replaceable by an HSM."""
