"""VenomQA's Ray execution backend: ``venomqa run --workers N --backend ray --address ADDR``
runs workers 2..N as Ray actors, each with its own API process and copies of the stores on its
node (see docs/ray.md). Ray is imported only when the backend runs workers.
"""

from venomqa_ray.backend import RayBackend

__all__ = ["RayBackend"]
