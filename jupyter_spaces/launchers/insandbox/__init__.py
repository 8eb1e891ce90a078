"""Programs that run inside a space's sandbox, with the image's Python: the space
server's entry point (:mod:`.labserver`), the image check (:mod:`.imagecheck`) and the
kernels' ``sitecustomize`` (:mod:`.sitecustomize`). A launcher runs the first two with
``python -I -m`` (:meth:`~jupyter_spaces.launchers.environments.Environment.module_command`)
and copies the last onto the kernels' ``PYTHONPATH``. They import nothing of the domain.
"""
