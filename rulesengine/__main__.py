from rulesengine.cli import main

raise SystemExit(main())
