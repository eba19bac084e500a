"""Sharing between departments (政务数据共享): requests reviewed by the data authority and
decided by the provider, grants scoped to fields, purpose and period, and the sharing API
that returns only what was granted and logs every call. See docs/sharing.md."""
