from proofcheck.cli import main

raise SystemExit(main())
