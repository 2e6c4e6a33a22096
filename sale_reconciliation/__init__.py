from . import controllers
from . import models
from . import reports
from . import wizards
from .hooks import pre_init_hook, post_init_hook
