"""Texts for people that are stored and shown later (session messages, per-file and
per-record reasons, the 1C exchange's answers): kept as their English source text and
parameters, and translated when they are shown, so a stored session reads in the site's
language of the moment. Not an installed app: no models, no templates."""
