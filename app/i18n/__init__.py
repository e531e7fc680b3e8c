"""The youth pages' languages: gettext catalogs read with Babel, per-locale metadata, dates."""
