import gc

from .cli import main

code = main()
# The interpreter's last collection at exit walks every object the run made (botocore's service
# models, the clients, every answer): a tenth to a few tenths of a second of CPU that a user waits
# for, freeing memory the ending process gives back anyway. Frozen objects are left out of it; the
# exit handlers still run (temporary folders, open files are closed as their references go), and
# nothing of the run is in flight any more: every command returns once its calls are done.
gc.freeze()
raise SystemExit(code)
