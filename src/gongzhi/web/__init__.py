"""The web shell: templates, i18n, static assets, elderly mode, error pages."""
