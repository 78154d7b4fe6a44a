"""The web console: server-rendered operator pages at ``/_roleport/console``.

* :mod:`roleport.console.app`: routing, sign-in, actions (``ConsoleApp.handle``)
* :mod:`roleport.console.tokens`: the stateless session cookie and CSRF tokens
* :mod:`roleport.console.pages`: what each page reads, through the domain services
* :mod:`roleport.console.timeline`: the certificate-expiry chart's layout (pure)
* :mod:`roleport.console.http`: cookies, forms and the security headers
* ``templates/`` (Jinja2, autoescaped) and ``static/`` (one stylesheet, one script)

See docs/operations.md, "Web console".
"""

from roleport.console.http import PREFIX

__all__ = ["PREFIX"]
