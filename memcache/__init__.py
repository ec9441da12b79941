"""The Memcached console: memcached's text protocol typed in the browser, on a shared server."""
