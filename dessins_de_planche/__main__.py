from dessins_de_planche.cli import main

raise SystemExit(main())
