"""Feed sources: fetching and parsing each feed format; nothing is loaded here.

Fetching and parsing each feed format (registry.py names them); nothing is loaded here, so a module that needs
one small part (text.py, ids.py) does not load feedparser and httpx."""
