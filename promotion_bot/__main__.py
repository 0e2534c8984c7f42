from promotion_bot.cli import main

raise SystemExit(main())
