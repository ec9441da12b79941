// CacheLab page behaviour. Everything here is an enhancement: pages work without it.
"use strict";
