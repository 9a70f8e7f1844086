"""``python -m venomqa.demo.blog --storage sqlite:blog.db [--port N]``: serve the blog demo."""

from venomqa.demo.blog.app import api

api.main()
