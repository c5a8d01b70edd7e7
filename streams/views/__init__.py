"""What people read: the watchlist, the read-only state API, the web page (Jinja2 templates in templates/, its
SVG price chart), the metrics catalogue. Framework-free: streams/worker adapts them to faust's web server."""
